CREATE TABLE `alert_notification_attempts` (
	`id` integer PRIMARY KEY NOT NULL,
	`notification_id` integer NOT NULL,
	`at` integer NOT NULL,
	`duration_ms` integer NOT NULL,
	`http_status` integer,
	`error` text,
	FOREIGN KEY (`notification_id`) REFERENCES `alert_notifications`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `alert_notification_attempts_notification` ON `alert_notification_attempts` (`notification_id`,`id`);--> statement-breakpoint
CREATE TABLE `alert_notifications` (
	`id` integer PRIMARY KEY NOT NULL,
	`receiver_id` text NOT NULL,
	`alert_id` integer NOT NULL,
	`status` text NOT NULL,
	`alert` text NOT NULL,
	`state` text NOT NULL,
	`created_at` integer NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`next_attempt_at` integer NOT NULL,
	`last_status` integer,
	`last_error` text,
	`finished_at` integer,
	`gave_up_reason` text,
	FOREIGN KEY (`receiver_id`) REFERENCES `alert_receivers`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `alert_notifications_event` ON `alert_notifications` (`receiver_id`,`alert_id`,`status`);--> statement-breakpoint
CREATE INDEX `alert_notifications_due` ON `alert_notifications` (`state`,`next_attempt_at`);--> statement-breakpoint
CREATE INDEX `alert_notifications_finished` ON `alert_notifications` (`finished_at`);--> statement-breakpoint
CREATE TABLE `alert_receivers` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`url` text NOT NULL,
	`bearer_token` text,
	`header_name` text,
	`header_value` text,
	`enabled` integer NOT NULL,
	`delivered` integer DEFAULT 0 NOT NULL,
	`failed_attempts` integer DEFAULT 0 NOT NULL,
	`gave_up` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `alert_receivers_name_unique` ON `alert_receivers` (`name`);--> statement-breakpoint
CREATE TABLE `seeds` (
	`name` text PRIMARY KEY NOT NULL,
	`applied_at` integer NOT NULL
);
