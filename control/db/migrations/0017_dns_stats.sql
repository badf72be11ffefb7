CREATE TABLE `dns_name_stats` (
	`level` text NOT NULL,
	`bucket` integer NOT NULL,
	`node` text NOT NULL,
	`pod` text NOT NULL,
	`name` text NOT NULL,
	`queries` integer NOT NULL,
	`nxdomain` integer NOT NULL,
	PRIMARY KEY(`level`, `bucket`, `node`, `pod`, `name`)
);
--> statement-breakpoint
CREATE INDEX `dns_name_stats_node` ON `dns_name_stats` (`node`,`level`,`bucket`);--> statement-breakpoint
CREATE INDEX `dns_name_stats_level` ON `dns_name_stats` (`level`,`bucket`);--> statement-breakpoint
CREATE TABLE `dns_server_stats` (
	`level` text NOT NULL,
	`bucket` integer NOT NULL,
	`node` text NOT NULL,
	`pod` text NOT NULL,
	`server` text NOT NULL,
	`port` integer NOT NULL,
	`q_a` integer DEFAULT 0 NOT NULL,
	`q_aaaa` integer DEFAULT 0 NOT NULL,
	`q_cname` integer DEFAULT 0 NOT NULL,
	`q_ptr` integer DEFAULT 0 NOT NULL,
	`q_mx` integer DEFAULT 0 NOT NULL,
	`q_txt` integer DEFAULT 0 NOT NULL,
	`q_srv` integer DEFAULT 0 NOT NULL,
	`q_ns` integer DEFAULT 0 NOT NULL,
	`q_soa` integer DEFAULT 0 NOT NULL,
	`q_https` integer DEFAULT 0 NOT NULL,
	`q_any` integer DEFAULT 0 NOT NULL,
	`q_other` integer DEFAULT 0 NOT NULL,
	`tcp` integer DEFAULT 0 NOT NULL,
	`r_noerror` integer DEFAULT 0 NOT NULL,
	`r_nxdomain` integer DEFAULT 0 NOT NULL,
	`r_servfail` integer DEFAULT 0 NOT NULL,
	`r_refused` integer DEFAULT 0 NOT NULL,
	`r_other` integer DEFAULT 0 NOT NULL,
	`truncated` integer DEFAULT 0 NOT NULL,
	`timeouts` integer DEFAULT 0 NOT NULL,
	`lat_0` integer DEFAULT 0 NOT NULL,
	`lat_1` integer DEFAULT 0 NOT NULL,
	`lat_2` integer DEFAULT 0 NOT NULL,
	`lat_3` integer DEFAULT 0 NOT NULL,
	`lat_4` integer DEFAULT 0 NOT NULL,
	`lat_5` integer DEFAULT 0 NOT NULL,
	`lat_6` integer DEFAULT 0 NOT NULL,
	`lat_7` integer DEFAULT 0 NOT NULL,
	`lat_8` integer DEFAULT 0 NOT NULL,
	`lat_9` integer DEFAULT 0 NOT NULL,
	`lat_10` integer DEFAULT 0 NOT NULL,
	`lat_11` integer DEFAULT 0 NOT NULL,
	`lat_12` integer DEFAULT 0 NOT NULL,
	`lat_13` integer DEFAULT 0 NOT NULL,
	`lat_14` integer DEFAULT 0 NOT NULL,
	`latency_sum_us` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`level`, `bucket`, `node`, `pod`, `server`, `port`)
);
--> statement-breakpoint
CREATE INDEX `dns_server_stats_node` ON `dns_server_stats` (`node`,`level`,`bucket`);--> statement-breakpoint
CREATE INDEX `dns_server_stats_level` ON `dns_server_stats` (`level`,`bucket`);