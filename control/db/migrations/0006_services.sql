CREATE TABLE `lb_nodes` (
	`node` text PRIMARY KEY NOT NULL,
	`applied_version` integer,
	`polled_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `lb_stats` (
	`bucket` integer NOT NULL,
	`service_id` integer NOT NULL,
	`backend_id` integer NOT NULL,
	`connections` integer NOT NULL,
	`refused` integer NOT NULL,
	PRIMARY KEY(`service_id`, `bucket`, `backend_id`)
);
--> statement-breakpoint
CREATE INDEX `lb_stats_bucket` ON `lb_stats` (`bucket`);--> statement-breakpoint
CREATE TABLE `lb_version` (
	`id` integer PRIMARY KEY NOT NULL,
	`version` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `service_backends` (
	`id` integer PRIMARY KEY NOT NULL,
	`service_id` integer NOT NULL,
	`ip` text NOT NULL,
	`port` integer NOT NULL,
	`weight` integer NOT NULL,
	`state` text NOT NULL,
	`pod_namespace` text,
	`pod_name` text,
	`assigned_version` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `service_backends_endpoint` ON `service_backends` (`service_id`,`ip`,`port`);--> statement-breakpoint
CREATE TABLE `services` (
	`id` integer PRIMARY KEY NOT NULL,
	`namespace` text NOT NULL,
	`name` text NOT NULL,
	`port_name` text NOT NULL,
	`vip` text NOT NULL,
	`port` integer NOT NULL,
	`protocol` text NOT NULL,
	`affinity` text NOT NULL,
	`affinity_timeout_s` integer NOT NULL,
	`table_size` integer NOT NULL,
	`source` text NOT NULL,
	`assigned_version` integer NOT NULL,
	`version` integer NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `services_name` ON `services` (`namespace`,`name`,`port_name`);--> statement-breakpoint
CREATE UNIQUE INDEX `services_frontend` ON `services` (`vip`,`port`,`protocol`);