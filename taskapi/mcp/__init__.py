"""MCP: the tools for AI agents, their server, and POST /mcp."""
