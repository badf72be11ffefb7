CREATE TABLE `desired_states` (
	`node` text PRIMARY KEY NOT NULL,
	`version` integer NOT NULL,
	`modules` text NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `join_tokens` (
	`id` text PRIMARY KEY NOT NULL,
	`token_hash` text NOT NULL,
	`description` text,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`revoked_at` integer,
	`uses` integer DEFAULT 0 NOT NULL,
	`last_used_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `join_tokens_token_hash_unique` ON `join_tokens` (`token_hash`);--> statement-breakpoint
CREATE TABLE `node_credentials` (
	`id` text PRIMARY KEY NOT NULL,
	`node` text NOT NULL,
	`token_hash` text NOT NULL,
	`join_token_id` text NOT NULL,
	`created_at` integer NOT NULL,
	`revoked_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `node_credentials_token_hash_unique` ON `node_credentials` (`token_hash`);--> statement-breakpoint
CREATE INDEX `node_credentials_node` ON `node_credentials` (`node`);--> statement-breakpoint
CREATE TABLE `node_inventories` (
	`node` text PRIMARY KEY NOT NULL,
	`agent_version` text NOT NULL,
	`kernel` text NOT NULL,
	`inventory` text NOT NULL,
	`ts` integer NOT NULL,
	`received_at` integer NOT NULL,
	FOREIGN KEY (`node`) REFERENCES `nodes`(`name`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `settings` (
	`key` text PRIMARY KEY NOT NULL,
	`value` text NOT NULL,
	`updated_at` integer NOT NULL
);
