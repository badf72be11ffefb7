CREATE TABLE `accel_rules` (
	`id` integer PRIMARY KEY NOT NULL,
	`rule` text NOT NULL,
	`assigned_version` integer NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `accel_stats` (
	`bucket` integer NOT NULL,
	`rule_id` integer NOT NULL,
	`connections` integer NOT NULL,
	`bytes` integer NOT NULL,
	PRIMARY KEY(`rule_id`, `bucket`)
);
--> statement-breakpoint
CREATE INDEX `accel_stats_bucket` ON `accel_stats` (`bucket`);