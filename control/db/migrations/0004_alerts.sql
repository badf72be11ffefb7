CREATE TABLE `alert_pending` (
	`threshold_id` text NOT NULL,
	`target` text NOT NULL,
	`since` integer NOT NULL,
	`peak` real NOT NULL,
	`trough` real NOT NULL,
	`last_value` real NOT NULL,
	PRIMARY KEY(`threshold_id`, `target`),
	FOREIGN KEY (`threshold_id`) REFERENCES `thresholds`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `alerts` (
	`id` integer PRIMARY KEY NOT NULL,
	`threshold_id` text NOT NULL,
	`metric` text NOT NULL,
	`scope_kind` text NOT NULL,
	`target` text NOT NULL,
	`node` text NOT NULL,
	`bound` text NOT NULL,
	`upper` real,
	`lower` real,
	`hold_seconds` integer NOT NULL,
	`description` text,
	`breached_since` integer NOT NULL,
	`fired_at` integer NOT NULL,
	`value` real NOT NULL,
	`peak` real NOT NULL,
	`trough` real NOT NULL,
	`last_value` real NOT NULL,
	`resolved_at` integer,
	`resolved_reason` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `alerts_active` ON `alerts` (`threshold_id`,`target`) WHERE resolved_at IS NULL;--> statement-breakpoint
CREATE INDEX `alerts_node` ON `alerts` (`node`,`fired_at`);--> statement-breakpoint
CREATE INDEX `alerts_resolved` ON `alerts` (`resolved_at`);--> statement-breakpoint
CREATE TABLE `thresholds` (
	`id` text PRIMARY KEY NOT NULL,
	`metric` text NOT NULL,
	`scope_kind` text NOT NULL,
	`target` text,
	`upper` real,
	`lower` real,
	`hold_seconds` integer NOT NULL,
	`description` text,
	`enabled` integer NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
