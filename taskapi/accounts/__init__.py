"""A user's account: erasing it for good (DELETE /account, `flask purge-user`)."""
