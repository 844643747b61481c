-- The DBA model (issue 4): labelled databases, mappings that select databases by name or by label
-- selector and principals by subject, group or one claim, with time bounds, a reason requirement,
-- an owner and a stable name (the key `dab admin apply` matches declarations on).

-- {"env": "prod", "team": "payments"}: what label selectors match on.
ALTER TABLE databases ADD COLUMN labels jsonb NOT NULL DEFAULT '{}';
-- DbiResourceId (db-…) or cluster resource id (cluster-…): the rds-db:connect ARN needs it.
ALTER TABLE databases ADD COLUMN resource_id text;

ALTER TABLE mappings ADD COLUMN name text;
UPDATE mappings SET name = 'mapping-' || id::text;
ALTER TABLE mappings ALTER COLUMN name SET NOT NULL;
ALTER TABLE mappings ADD CONSTRAINT mappings_name_key UNIQUE (name);

-- A mapping targets one database by name, or every database whose labels include the selector's.
ALTER TABLE mappings ALTER COLUMN database_name DROP NOT NULL;
ALTER TABLE mappings ADD COLUMN selector jsonb;
ALTER TABLE mappings ADD CONSTRAINT mappings_one_target CHECK (num_nonnulls(database_name, selector) = 1);

-- Principal: exactly one of subject, group, or claim (name = value), always with its issuer.
ALTER TABLE mappings DROP CONSTRAINT mappings_check;
ALTER TABLE mappings ADD COLUMN claim_name text;
ALTER TABLE mappings ADD COLUMN claim_value text;
ALTER TABLE mappings ADD CONSTRAINT mappings_one_principal CHECK (num_nonnulls(subject, group_name, claim_name) = 1);
ALTER TABLE mappings ADD CONSTRAINT mappings_claim_pair CHECK ((claim_name IS NULL) = (claim_value IS NULL));

ALTER TABLE mappings ADD COLUMN not_before timestamptz;
ALTER TABLE mappings ADD COLUMN require_reason boolean NOT NULL DEFAULT false;
ALTER TABLE mappings ADD COLUMN owner text;
