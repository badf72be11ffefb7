ALTER TABLE `pods` ADD `meta_hash` text;--> statement-breakpoint
-- Written by hand (drizzle-kit knows no triggers): a write of a pod's metadata that leaves meta_hash as it was
-- (a control plane from before this migration, during a rollout or after a rollback, upserts whole rows without
-- it) clears meta_hash, so the next report writes the whole row again instead of trusting a hash of other values.
CREATE TRIGGER `pods_meta_hash_stale` AFTER UPDATE OF `namespace`, `name`, `labels`, `owner`, `ips`, `host_veth`, `ifindex`, `netns_ino`, `cgroup`, `host_network`, `boot_id` ON `pods`
WHEN NEW.`meta_hash` IS OLD.`meta_hash` AND NEW.`meta_hash` IS NOT NULL
BEGIN
  UPDATE `pods` SET `meta_hash` = NULL WHERE `uid` = NEW.`uid`;
END;
