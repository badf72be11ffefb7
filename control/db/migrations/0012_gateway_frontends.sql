CREATE TABLE `gateway_frontend_stats` (
	`bucket` integer NOT NULL,
	`service_id` integer NOT NULL,
	`address` text NOT NULL,
	`port` integer NOT NULL,
	`flows` integer NOT NULL,
	`evicted` integer NOT NULL,
	`snat_busy` integer NOT NULL,
	`no_backend` integer NOT NULL,
	`to_stack` integer NOT NULL,
	`expired` integer NOT NULL,
	PRIMARY KEY(`service_id`, `address`, `port`, `bucket`)
);
--> statement-breakpoint
CREATE INDEX `gateway_frontend_stats_bucket` ON `gateway_frontend_stats` (`bucket`);--> statement-breakpoint
CREATE TABLE `gateway_frontend_totals` (
	`service_id` integer NOT NULL,
	`address` text NOT NULL,
	`port` integer NOT NULL,
	`flows` integer NOT NULL,
	`evicted` integer NOT NULL,
	`snat_busy` integer NOT NULL,
	`no_backend` integer NOT NULL,
	`to_stack` integer NOT NULL,
	`expired` integer NOT NULL,
	PRIMARY KEY(`service_id`, `address`, `port`)
);
