"""Who is calling: the bearer token check (HS256, JWKS) and Better Auth's sessions."""
