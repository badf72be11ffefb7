ALTER TABLE `flow_stats` ADD `service` text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE `tcp_stats` ADD `service` text DEFAULT '' NOT NULL;