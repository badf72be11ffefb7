CREATE TABLE `module_defaults` (
	`id` integer PRIMARY KEY NOT NULL,
	`version` integer NOT NULL,
	`modules` text NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_join_tokens` (
	`id` text PRIMARY KEY NOT NULL,
	`token_hash` text NOT NULL,
	`description` text,
	`created_at` integer NOT NULL,
	`expires_at` integer,
	`revoked_at` integer,
	`uses` integer DEFAULT 0 NOT NULL,
	`last_used_at` integer
);
--> statement-breakpoint
INSERT INTO `__new_join_tokens`("id", "token_hash", "description", "created_at", "expires_at", "revoked_at", "uses", "last_used_at") SELECT "id", "token_hash", "description", "created_at", "expires_at", "revoked_at", "uses", "last_used_at" FROM `join_tokens`;--> statement-breakpoint
DROP TABLE `join_tokens`;--> statement-breakpoint
ALTER TABLE `__new_join_tokens` RENAME TO `join_tokens`;--> statement-breakpoint
PRAGMA foreign_keys=ON;--> statement-breakpoint
CREATE UNIQUE INDEX `join_tokens_token_hash_unique` ON `join_tokens` (`token_hash`);