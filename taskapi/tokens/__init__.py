"""Access tokens for scripts, integrations and agents: `tsk_...` credentials a
signed-in user creates with scopes and an expiry (docs/access-tokens.md)."""
