CREATE TABLE `interface_stats` (
	`level` text NOT NULL,
	`bucket` integer NOT NULL,
	`node` text NOT NULL,
	`ifname` text NOT NULL,
	`rx_packets` integer NOT NULL,
	`rx_bytes` integer NOT NULL,
	`tx_packets` integer NOT NULL,
	`tx_bytes` integer NOT NULL,
	`drops` integer NOT NULL,
	`interval_ms` integer NOT NULL,
	PRIMARY KEY(`node`, `level`, `ifname`, `bucket`)
);
--> statement-breakpoint
CREATE INDEX `interface_stats_level_bucket` ON `interface_stats` (`level`,`bucket`);--> statement-breakpoint
DROP INDEX `pods_node`;--> statement-breakpoint
CREATE INDEX `pods_node` ON `pods` (`node`,`vanished_at`);--> statement-breakpoint
ALTER TABLE `interface_history` ADD `rx_packets` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `interface_history` ADD `rx_bytes` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `interface_history` ADD `tx_packets` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `interface_history` ADD `tx_bytes` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `interface_history` ADD `drops` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `interface_history` ADD `interval_ms` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `interface_history` ADD `rolled` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX `interface_history_rolled_ts` ON `interface_history` (`rolled`,`ts`);--> statement-breakpoint
CREATE INDEX `drop_stats_node` ON `drop_stats` (`node`,`level`,`bucket`);--> statement-breakpoint
CREATE INDEX `tcp_stats_node` ON `tcp_stats` (`node`,`level`,`bucket`);--> statement-breakpoint
DROP VIEW `interface_samples`;--> statement-breakpoint
CREATE VIEW `interface_samples` AS SELECT h.id AS history_id, h.node AS node, h.boot_id AS boot_id, h.ts AS ts, j.value ->> 0 AS ifname, j.value ->> 1 AS ifindex, j.value ->> 2 AS rx_packets, j.value ->> 3 AS rx_bytes, j.value ->> 4 AS tx_packets, j.value ->> 5 AS tx_bytes, j.value ->> 6 AS drops, j.value ->> 7 AS rx_packets_per_sec, j.value ->> 8 AS rx_bytes_per_sec, j.value ->> 9 AS tx_packets_per_sec, j.value ->> 10 AS tx_bytes_per_sec, j.value ->> 11 AS rx_packets_delta, j.value ->> 12 AS rx_bytes_delta, j.value ->> 13 AS tx_packets_delta, j.value ->> 14 AS tx_bytes_delta, j.value ->> 15 AS drops_delta, j.value ->> 16 AS interval_ms FROM interface_history AS h, json_each(h.interfaces) AS j;