CREATE TABLE `drop_stats` (
	`level` text NOT NULL,
	`bucket` integer NOT NULL,
	`node` text NOT NULL,
	`pod` text NOT NULL,
	`ifname` text NOT NULL,
	`reason` text NOT NULL,
	`packets` integer NOT NULL,
	`bytes` integer NOT NULL,
	PRIMARY KEY(`level`, `bucket`, `node`, `pod`, `ifname`, `reason`)
);
--> statement-breakpoint
CREATE TABLE `endpoints` (
	`key` text PRIMARY KEY NOT NULL,
	`kind` text NOT NULL,
	`namespace` text,
	`name` text,
	`node` text,
	`ip` text,
	`last_used` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `flow_stats` (
	`level` text NOT NULL,
	`bucket` integer NOT NULL,
	`node` text NOT NULL,
	`client` text NOT NULL,
	`server` text NOT NULL,
	`port` integer NOT NULL,
	`proto` integer NOT NULL,
	`fwd_packets` integer NOT NULL,
	`fwd_bytes` integer NOT NULL,
	`rev_packets` integer NOT NULL,
	`rev_bytes` integer NOT NULL,
	`tcp_flags` integer NOT NULL,
	PRIMARY KEY(`level`, `bucket`, `node`, `client`, `server`, `port`, `proto`)
);
--> statement-breakpoint
CREATE TABLE `monitoring_raw` (
	`id` integer PRIMARY KEY NOT NULL,
	`node` text NOT NULL,
	`boot_id` text NOT NULL,
	`ts` integer NOT NULL,
	`flows` text NOT NULL,
	`tcp` text NOT NULL,
	`drops` text NOT NULL,
	`rolled` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE INDEX `monitoring_raw_ts` ON `monitoring_raw` (`ts`);--> statement-breakpoint
CREATE INDEX `monitoring_raw_node_ts` ON `monitoring_raw` (`node`,`ts`);--> statement-breakpoint
CREATE INDEX `monitoring_raw_rolled` ON `monitoring_raw` (`rolled`,`id`);--> statement-breakpoint
CREATE TABLE `node_monitoring` (
	`node` text PRIMARY KEY NOT NULL,
	`agent` text,
	`flow_keys_cut` integer DEFAULT 0 NOT NULL,
	`tcp_keys_cut` integer DEFAULT 0 NOT NULL,
	`drop_keys_cut` integer DEFAULT 0 NOT NULL,
	`flow_duplicates` integer DEFAULT 0 NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`node`) REFERENCES `nodes`(`name`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `pods` (
	`uid` text PRIMARY KEY NOT NULL,
	`node` text NOT NULL,
	`namespace` text NOT NULL,
	`name` text NOT NULL,
	`labels` text NOT NULL,
	`owner` text,
	`ips` text NOT NULL,
	`host_veth` text,
	`ifindex` integer,
	`netns_ino` integer,
	`cgroup` text,
	`host_network` integer NOT NULL,
	`boot_id` text NOT NULL,
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
	`first_seen` integer NOT NULL,
	`last_seen` integer NOT NULL,
	`vanished_ts` integer,
	`vanished_at` integer,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `pods_node` ON `pods` (`node`);--> statement-breakpoint
CREATE INDEX `pods_namespace_name` ON `pods` (`namespace`,`name`);--> statement-breakpoint
CREATE TABLE `tcp_stats` (
	`level` text NOT NULL,
	`bucket` integer NOT NULL,
	`node` text NOT NULL,
	`local` text NOT NULL,
	`remote` text NOT NULL,
	`port` integer NOT NULL,
	`role` text NOT NULL,
	`opened` integer NOT NULL,
	`failed_refused` integer NOT NULL,
	`failed_timeout` integer NOT NULL,
	`failed_other` integer NOT NULL,
	`closed` integer NOT NULL,
	`duration_ms` integer NOT NULL,
	`retransmits` integer NOT NULL,
	`resets_rx` integer NOT NULL,
	`resets_tx` integer NOT NULL,
	`srtt_us_sum` integer NOT NULL,
	`srtt_samples` integer NOT NULL,
	PRIMARY KEY(`level`, `bucket`, `node`, `local`, `remote`, `port`, `role`)
);
