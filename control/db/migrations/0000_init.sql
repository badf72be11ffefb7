CREATE TABLE `boots` (
	`node` text NOT NULL,
	`boot_id` text NOT NULL,
	`last_seq` integer NOT NULL,
	`first_seen` integer NOT NULL,
	`last_seen` integer NOT NULL,
	PRIMARY KEY(`node`, `boot_id`),
	FOREIGN KEY (`node`) REFERENCES `nodes`(`name`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `interface_samples` (
	`id` integer PRIMARY KEY NOT NULL,
	`node` text NOT NULL,
	`ifname` text NOT NULL,
	`boot_id` text NOT NULL,
	`ifindex` integer NOT NULL,
	`ts` integer NOT NULL,
	`rx_packets` integer NOT NULL,
	`rx_bytes` integer NOT NULL,
	`tx_packets` integer NOT NULL,
	`tx_bytes` integer NOT NULL,
	`drops` integer NOT NULL,
	`rx_packets_per_sec` real,
	`rx_bytes_per_sec` real,
	`tx_packets_per_sec` real,
	`tx_bytes_per_sec` real
);
--> statement-breakpoint
CREATE INDEX `interface_samples_node_ifname_ts` ON `interface_samples` (`node`,`ifname`,`ts`);--> statement-breakpoint
CREATE TABLE `interfaces` (
	`node` text NOT NULL,
	`ifname` text NOT NULL,
	`ifindex` integer NOT NULL,
	`rx_packets` integer NOT NULL,
	`rx_bytes` integer NOT NULL,
	`tx_packets` integer NOT NULL,
	`tx_bytes` integer NOT NULL,
	`drops` integer NOT NULL,
	`rx_packets_per_sec` real,
	`rx_bytes_per_sec` real,
	`tx_packets_per_sec` real,
	`tx_bytes_per_sec` real,
	`ts` integer NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`node`, `ifname`),
	FOREIGN KEY (`node`) REFERENCES `nodes`(`name`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `nodes` (
	`name` text PRIMARY KEY NOT NULL,
	`boot_id` text NOT NULL,
	`last_seq` integer NOT NULL,
	`last_ts` integer NOT NULL,
	`first_seen` integer NOT NULL,
	`last_seen` integer NOT NULL
);
