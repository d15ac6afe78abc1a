-- The CMDB: classes of configuration items with typed attributes, the items
-- (CIs) with their history, typed directed relationships with redundancy
-- rules, and the topology of incidents. Services are CIs: each service row
-- points at its CI (class business_service). cmdb_revision is bumped by every
-- change that alters the graph, so every replica knows when to reload its
-- in-memory copy.
CREATE TABLE ci_classes (
    id          INTEGER PRIMARY KEY,
    key         TEXT    NOT NULL UNIQUE,
    name        TEXT    NOT NULL,
    description TEXT    NOT NULL DEFAULT '',
    builtin     INTEGER NOT NULL DEFAULT 0,
    attributes  TEXT    NOT NULL DEFAULT '[]',  -- JSON: the attribute definitions
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    version     INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE cis (
    id            INTEGER PRIMARY KEY,
    class_id      INTEGER NOT NULL REFERENCES ci_classes(id),
    name          TEXT    NOT NULL,
    name_key      TEXT    NOT NULL,            -- lower-cased name, for lookups and search
    team_id       INTEGER REFERENCES teams(id) ON DELETE SET NULL,
    environment   TEXT    NOT NULL DEFAULT 'production',
    location      TEXT    NOT NULL DEFAULT '',
    lifecycle     TEXT    NOT NULL DEFAULT 'in_use',
    source        TEXT    NOT NULL DEFAULT '',   -- '' (by hand), an import, a discovery source
    external_id   TEXT,                          -- unique within its source
    attributes    TEXT    NOT NULL DEFAULT '{}', -- JSON
    last_seen_at  INTEGER,                       -- by its discovery source
    missing_since INTEGER,                       -- its source no longer sees it
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    version       INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX cis_external ON cis(source, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX cis_name ON cis(name_key, id);
CREATE INDEX cis_class ON cis(class_id, name_key, id);
CREATE INDEX cis_team ON cis(team_id);

-- One row per attribute value (lower-cased text): attribute search and
-- unique constraints.
CREATE TABLE ci_attribute_values (
    ci_id    INTEGER NOT NULL REFERENCES cis(id) ON DELETE CASCADE,
    class_id INTEGER NOT NULL,
    key      TEXT    NOT NULL,
    value    TEXT    NOT NULL,
    PRIMARY KEY (ci_id, key)
);
CREATE INDEX ci_attribute_lookup ON ci_attribute_values(key, value, class_id);

CREATE TABLE ci_history (
    id         INTEGER PRIMARY KEY,
    ci_id      INTEGER NOT NULL REFERENCES cis(id) ON DELETE CASCADE,
    at         INTEGER NOT NULL,
    actor_type TEXT    NOT NULL,
    actor_id   TEXT    NOT NULL,
    actor_name TEXT    NOT NULL,
    field      TEXT    NOT NULL,  -- "name", "attributes.os", "relation:+runs_on:12", …
    before     TEXT,              -- JSON, NULL when there was none
    after      TEXT               -- JSON, NULL when there is none
);
CREATE INDEX ci_history_ci ON ci_history(ci_id, id);

-- "source <type> target": the app runs_on the host; a failure of the target
-- affects the source (except connects_to and backed_up_by).
CREATE TABLE ci_relations (
    id         INTEGER PRIMARY KEY,
    source_id  INTEGER NOT NULL REFERENCES cis(id) ON DELETE CASCADE,
    type       TEXT    NOT NULL,
    target_id  INTEGER NOT NULL REFERENCES cis(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX ci_relations_edge ON ci_relations(source_id, type, target_id);
CREATE INDEX ci_relations_target ON ci_relations(target_id, type);

-- A group (the target of member_of relations) stays up while at least
-- min_up of its members are up.
CREATE TABLE ci_redundancy (
    ci_id  INTEGER PRIMARY KEY REFERENCES cis(id) ON DELETE CASCADE,
    min_up INTEGER NOT NULL
);

CREATE TABLE cmdb_revision (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    revision INTEGER NOT NULL
);
INSERT INTO cmdb_revision (id, revision) VALUES (1, 1);

-- How events name CIs: the first rule whose label the event has, matched
-- against a CI's name or external id.
CREATE TABLE ci_mapping_rules (
    id         INTEGER PRIMARY KEY,
    position   INTEGER NOT NULL,
    label      TEXT    NOT NULL,          -- "ci", "instance", "host", …
    match      TEXT    NOT NULL,          -- name or external_id
    strip_port INTEGER NOT NULL DEFAULT 1, -- "db-1:9100" → "db-1"
    created_at INTEGER NOT NULL
);
INSERT INTO ci_mapping_rules (position, label, match, strip_port, created_at) VALUES
    (1, 'ci', 'name', 0, 0), (2, 'ci', 'external_id', 0, 0), (3, 'instance', 'name', 1, 0), (4, 'host', 'name', 1, 0);

-- The CIs an alert names, and the topology of incidents: their affected CIs
-- and the probable root cause, which an operator may confirm or correct.
ALTER TABLE alerts ADD COLUMN ci_id INTEGER REFERENCES cis(id) ON DELETE SET NULL;
CREATE TABLE incident_cis (
    incident_id INTEGER NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
    ci_id       INTEGER NOT NULL REFERENCES cis(id) ON DELETE CASCADE,
    role        TEXT    NOT NULL,   -- affected, impacted (a business service downstream), root_cause
    rank        INTEGER NOT NULL DEFAULT 0,
    confirmed   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (incident_id, ci_id, role)
);
CREATE INDEX incident_cis_ci ON incident_cis(ci_id, incident_id);

-- The built-in classes.
INSERT INTO ci_classes (key, name, description, builtin, attributes, created_at, updated_at) VALUES
    ('business_service', 'Business service', 'What the business sees and pays for; the services alerts are routed to.', 1, '[]', 0, 0),
    ('technical_service', 'Technical service', 'A shared capability other services run on.', 1, '[]', 0, 0),
    ('application', 'Application', 'Software that runs somewhere.', 1, '[{"key":"version","name":"Version","type":"string"},{"key":"url","name":"URL","type":"url"}]', 0, 0),
    ('service_instance', 'Service instance', 'One deployment of an application.', 1, '[{"key":"port","name":"Port","type":"number"}]', 0, 0),
    ('server', 'Server', 'A physical machine.', 1, '[{"key":"ip","name":"IP address","type":"ip"},{"key":"os","name":"Operating system","type":"string"},{"key":"cpus","name":"CPUs","type":"number"},{"key":"serial","name":"Serial number","type":"string","unique":true}]', 0, 0),
    ('virtual_machine', 'Virtual machine', 'A virtual machine on a hypervisor or a cloud.', 1, '[{"key":"ip","name":"IP address","type":"ip"},{"key":"os","name":"Operating system","type":"string"},{"key":"cpus","name":"CPUs","type":"number"}]', 0, 0),
    ('container', 'Container', 'A container or pod.', 1, '[{"key":"image","name":"Image","type":"string"}]', 0, 0),
    ('database', 'Database', 'A database or a database cluster.', 1, '[{"key":"engine","name":"Engine","type":"enum","enum":["postgresql","mysql","mariadb","oracle","sqlserver","mongodb","redis","other"]},{"key":"version","name":"Version","type":"string"}]', 0, 0),
    ('network_device', 'Network device', 'A switch, router or firewall.', 1, '[{"key":"ip","name":"Management IP","type":"ip"},{"key":"model","name":"Model","type":"string"}]', 0, 0),
    ('load_balancer', 'Load balancer', 'Spreads traffic over members.', 1, '[{"key":"vip","name":"Virtual IP","type":"ip"}]', 0, 0),
    ('storage', 'Storage', 'A storage array, volume or bucket.', 1, '[{"key":"capacity_gb","name":"Capacity (GB)","type":"number"}]', 0, 0),
    ('cloud_resource', 'Cloud resource', 'A resource of a cloud provider.', 1, '[{"key":"provider","name":"Provider","type":"enum","enum":["aws","azure","gcp","other"]},{"key":"region","name":"Region","type":"string"},{"key":"arn","name":"Resource id","type":"string","unique":true}]', 0, 0);

-- Every existing service becomes a CI of class business_service.
ALTER TABLE services ADD COLUMN ci_id INTEGER REFERENCES cis(id);
INSERT INTO cis (class_id, name, name_key, team_id, created_at, updated_at)
    SELECT (SELECT id FROM ci_classes WHERE key = 'business_service'), name, lower(name), team_id, created_at, updated_at FROM services;
-- (Service names are unique, and these are the only CIs yet: the exact name
-- finds each service's CI. name_key is recomputed at start for names that
-- SQL's lower() does not lower as Go does.)
UPDATE services SET ci_id = (SELECT c.id FROM cis c WHERE c.name = services.name
    AND c.class_id = (SELECT id FROM ci_classes WHERE key = 'business_service'));
CREATE UNIQUE INDEX services_ci ON services(ci_id);
