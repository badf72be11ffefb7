CREATE TABLE `gateway_stats` (
	`bucket` integer NOT NULL,
	`service_id` integer NOT NULL,
	`packets_in` integer NOT NULL,
	`bytes_in` integer NOT NULL,
	`packets_out` integer NOT NULL,
	`bytes_out` integer NOT NULL,
	PRIMARY KEY(`service_id`, `bucket`)
);
--> statement-breakpoint
CREATE INDEX `gateway_stats_bucket` ON `gateway_stats` (`bucket`);--> statement-breakpoint
ALTER TABLE `services` ADD `type` text DEFAULT 'ClusterIP' NOT NULL;--> statement-breakpoint
ALTER TABLE `services` ADD `node_port` integer;--> statement-breakpoint
ALTER TABLE `services` ADD `external_ips` text DEFAULT '[]' NOT NULL;