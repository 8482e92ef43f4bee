// The real Better Auth on a real PostgreSQL, for the tests: it migrates its own
// tables, then serves its HTTP handler on loopback, configured as the frontends
// that call taskapi configure it (cookie cache as an HS256 JWT, the jwt() plugin).
//   DATABASE_URL, BETTER_AUTH_SECRET, PORT (0: any free port)
// Prints `listening <port>` once it accepts requests.
import http from "node:http";
import { betterAuth } from "better-auth";
import { getMigrations } from "better-auth/db/migration";
import { toNodeHandler } from "better-auth/node";
import { jwt } from "better-auth/plugins";
import pg from "pg";

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
// The outage test stops the database under us: a dropped idle client is not fatal.
pool.on("error", (error) => console.error(`pool: ${error.message}`));

const server = http.createServer();
server.listen(Number(process.env.PORT || 0), "127.0.0.1", async () => {
  const origin = `http://127.0.0.1:${server.address().port}`;
  const options = {
    baseURL: origin,
    trustedOrigins: [origin],
    secret: process.env.BETTER_AUTH_SECRET,
    database: pool,
    emailAndPassword: { enabled: true },
    session: {
      cookieCache: { enabled: true, maxAge: 7 * 24 * 3600, strategy: "jwt" },
    },
    user: { deleteUser: { enabled: true } },
    plugins: [jwt()],
    logger: { level: "error" },
  };
  const { runMigrations } = await getMigrations(options);
  await runMigrations();
  server.on("request", toNodeHandler(betterAuth(options)));
  console.log(`listening ${server.address().port}`);
});
