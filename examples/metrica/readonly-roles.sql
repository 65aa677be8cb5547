-- A SELECT-only warehouse login for Tally that owns nothing.
--
-- Tally already runs every query in a READ ONLY transaction under a time limit; this role makes
-- the database itself refuse writes too, whatever connects with it. It can read the five Metrica
-- demo tables and nothing else: it owns no table or schema, cannot create one, and holds no
-- superuser, CREATEDB or CREATEROLE right.
--
-- Run the section for your engine as an administrator (PostgreSQL superuser, MariaDB/MySQL root),
-- after `tally load-demo` (PostgreSQL grants on a table are lost when the table is dropped and
-- recreated, so rerun this after reloading). Every statement is safe to rerun. The database is
-- `test` here; put your own database name where `test` appears. No password is set because the
-- test engines use trust authentication on 127.0.0.1; in production add one (see the comments).
--
-- Then point Tally at it:
--   postgres://tally_reader@127.0.0.1:5432/test
--   mysql://tally_reader@127.0.0.1:3306/test
--
-- tests/engine_resilience.rs runs exactly this file (each section as one batch) and checks that
-- the role owns nothing, answers a golden query with the same numbers as an administrator, and
-- fails to INSERT or CREATE.

-- == PostgreSQL ==

-- The login role, created once (a concurrent creator is tolerated).
-- In production: CREATE ROLE tally_reader LOGIN PASSWORD '…' …
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'tally_reader') THEN
        CREATE ROLE tally_reader LOGIN;
    END IF;
EXCEPTION WHEN duplicate_object THEN
    NULL;
END
$$;

-- No rights beyond logging in, even if the role already existed with more.
ALTER ROLE tally_reader LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;

-- Sessions of this role are read-only by default as well (Tally also asks for it).
ALTER ROLE tally_reader SET default_transaction_read_only = on;

-- Reach the database and look up names in its schema; no CREATE on either.
GRANT CONNECT ON DATABASE test TO tally_reader;
GRANT USAGE ON SCHEMA public TO tally_reader;

-- Read the demo tables, and only them.
GRANT SELECT ON TABLE
    public.events,
    public.sessions,
    public.user_profiles,
    public.customers,
    public.support_tickets
TO tally_reader;

-- PostgreSQL 14 and older let every role (PUBLIC) create tables in schema public; 15 and later
-- do not. On an older server also run (it affects every role, so it is not run by the tests):
--   REVOKE CREATE ON SCHEMA public FROM PUBLIC;

-- == MariaDB / MySQL ==

-- The login, for TCP connections to 127.0.0.1 and for the local socket (`localhost`).
-- In production: CREATE USER IF NOT EXISTS 'tally_reader'@'…' IDENTIFIED BY '…';
CREATE USER IF NOT EXISTS 'tally_reader'@'127.0.0.1';
CREATE USER IF NOT EXISTS 'tally_reader'@'localhost';

-- Read the demo tables, and only them: no global, database-wide or write privilege.
-- (MariaDB and MySQL have no table owners; what a user may do is exactly what it is granted.)
GRANT SELECT ON test.events TO 'tally_reader'@'127.0.0.1', 'tally_reader'@'localhost';
GRANT SELECT ON test.sessions TO 'tally_reader'@'127.0.0.1', 'tally_reader'@'localhost';
GRANT SELECT ON test.user_profiles TO 'tally_reader'@'127.0.0.1', 'tally_reader'@'localhost';
GRANT SELECT ON test.customers TO 'tally_reader'@'127.0.0.1', 'tally_reader'@'localhost';
GRANT SELECT ON test.support_tickets TO 'tally_reader'@'127.0.0.1', 'tally_reader'@'localhost';
