-- Attribute search lists CIs by name: each attribute value carries its CI's
-- lower-cased name, so that "os = debian" reads the first page straight
-- from one index, in name order, however many CIs share the value.
ALTER TABLE ci_attribute_values ADD COLUMN name_key TEXT NOT NULL DEFAULT '';
UPDATE ci_attribute_values SET name_key = (SELECT c.name_key FROM cis c WHERE c.id = ci_attribute_values.ci_id);
CREATE INDEX ci_attribute_search ON ci_attribute_values(key, value, name_key, ci_id);
