CREATE TABLE `interface_history` (
	`id` integer PRIMARY KEY NOT NULL,
	`node` text NOT NULL,
	`boot_id` text NOT NULL,
	`ts` integer NOT NULL,
	`interfaces` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `interface_history_node_ts` ON `interface_history` (`node`,`ts`);--> statement-breakpoint
-- Written by hand: keep the history recorded before this migration (one row per interface) as one row per batch.
INSERT INTO `interface_history` (`node`, `boot_id`, `ts`, `interfaces`)
SELECT `node`, `boot_id`, `ts`, json_group_array(json_array(`ifname`, `ifindex`, `rx_packets`, `rx_bytes`, `tx_packets`, `tx_bytes`, `drops`, `rx_packets_per_sec`, `rx_bytes_per_sec`, `tx_packets_per_sec`, `tx_bytes_per_sec`))
FROM (SELECT * FROM `interface_samples` ORDER BY `id`)
GROUP BY `node`, `boot_id`, `ts`
ORDER BY min(`id`);--> statement-breakpoint
DROP TABLE `interface_samples`;--> statement-breakpoint
CREATE VIEW `interface_samples` AS SELECT h.id AS history_id, h.node AS node, h.boot_id AS boot_id, h.ts AS ts, j.value ->> 0 AS ifname, j.value ->> 1 AS ifindex, j.value ->> 2 AS rx_packets, j.value ->> 3 AS rx_bytes, j.value ->> 4 AS tx_packets, j.value ->> 5 AS tx_bytes, j.value ->> 6 AS drops, j.value ->> 7 AS rx_packets_per_sec, j.value ->> 8 AS rx_bytes_per_sec, j.value ->> 9 AS tx_packets_per_sec, j.value ->> 10 AS tx_bytes_per_sec FROM interface_history AS h, json_each(h.interfaces) AS j;