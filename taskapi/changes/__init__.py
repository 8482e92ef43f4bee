"""The change feed: GET /changes and its cursors."""
