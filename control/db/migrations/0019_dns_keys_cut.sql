ALTER TABLE `node_monitoring` ADD `dns_name_keys_cut` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `node_monitoring` ADD `dns_server_keys_cut` integer DEFAULT 0 NOT NULL;