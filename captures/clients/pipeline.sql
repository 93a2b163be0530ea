-- pgbench custom script for pgbench-pipeline.pcapng (captures/record.sh): four statements in one
-- pipeline. With -M extended, libpq sends Parse/Bind/Describe/Execute for each statement without
-- waiting, and a single Sync at \endpipeline; then it reads the four results and ReadyForQuery.
\set aid random(1, 100000 * :scale)
\set bid random(1, 1 * :scale)
\set delta random(-5000, 5000)
\startpipeline
SELECT abalance FROM pgbench_accounts WHERE aid = :aid;
UPDATE pgbench_accounts SET abalance = abalance + :delta WHERE aid = :aid;
SELECT abalance FROM pgbench_accounts WHERE aid = :aid;
SELECT bbalance FROM pgbench_branches WHERE bid = :bid;
\endpipeline
