CREATE TABLE `drop_service_stats` (
	`level` text NOT NULL,
	`bucket` integer NOT NULL,
	`node` text NOT NULL,
	`pod` text NOT NULL,
	`ifname` text NOT NULL,
	`reason` text NOT NULL,
	`service` text NOT NULL,
	`packets` integer NOT NULL,
	`bytes` integer NOT NULL,
	PRIMARY KEY(`level`, `bucket`, `node`, `pod`, `ifname`, `reason`, `service`)
);
--> statement-breakpoint
CREATE INDEX `drop_service_stats_node` ON `drop_service_stats` (`node`,`level`,`bucket`);