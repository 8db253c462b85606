import { sql, type Kysely } from 'kysely';

// Frozen in time: imports no application code, so later refactors cannot change history.
/* eslint-disable @typescript-eslint/no-explicit-any */
export async function up(db: Kysely<any>): Promise<void> {
  // Issue 18: admission of a new job under its tenant's cap on queued jobs, inside the one
  // statement that creates it. Returns the count, the cap in effect (0: none) and whether
  // it decided; `decided` false asks the caller to try again with `p_exclusive`.
  //  - No cap: nothing to count, no lock.
  //  - Far from the cap (count + max_connections < cap): the tenant's lock in SHARED mode,
  //    so creations run side by side. At most max_connections transactions are in flight
  //    at once, each adding one job, so together they cannot pass the cap.
  //  - Near it: the EXCLUSIVE lock (the one lockTenantQueue takes), which waits for every
  //    shared holder to commit, then an exact count; creations queue one by one.
  // The count is a query of its own inside this VOLATILE function, so it has a snapshot
  // taken after the lock was granted: it sees every job committed by whoever held it.
  // (Upgrading a shared lock in place could deadlock two creations: the caller retries.)
  await sql`
    CREATE FUNCTION admit_queued_job(p_tenant uuid, p_deployment_cap integer, p_exclusive boolean)
    RETURNS TABLE (queued bigint, cap integer, decided boolean)
    LANGUAGE plpgsql VOLATILE AS $$
    DECLARE
      v_key bigint := hashtextextended('tenant-queue:' || p_tenant::text, 0);
      v_cap integer;
      v_queued bigint;
    BEGIN
      SELECT t.max_queued_jobs INTO v_cap FROM tenants t WHERE t.id = p_tenant;
      v_cap := COALESCE(v_cap, p_deployment_cap);
      IF v_cap IS NULL OR v_cap <= 0 THEN
        RETURN QUERY SELECT 0::bigint, 0, true;
        RETURN;
      END IF;
      IF p_exclusive THEN
        PERFORM pg_advisory_xact_lock(v_key);
      ELSE
        PERFORM pg_advisory_xact_lock_shared(v_key);
      END IF;
      SELECT count(*) INTO v_queued FROM jobs j WHERE j.tenant_id = p_tenant AND j.status = 'queued';
      RETURN QUERY SELECT v_queued, v_cap,
        p_exclusive OR v_queued + current_setting('max_connections')::bigint < v_cap;
    END $$`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP FUNCTION IF EXISTS admit_queued_job(uuid, integer, boolean)`.execute(db);
}
