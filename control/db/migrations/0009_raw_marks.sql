-- The rolled marks of the raw level move out of its ~20 KB rows into a narrow table
-- (control/db/schema.ts, monitoring_raw_marks); `monitoring_raw` becomes a view of both.
-- The marks are copied from the (rolled, id) index alone, so no raw row is read or rewritten;
-- the old `rolled` column stays in the rows, unused (dropping it would rewrite every row).
CREATE TABLE `monitoring_raw_marks` (
	`id` integer PRIMARY KEY NOT NULL,
	`rolled` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
INSERT INTO `monitoring_raw_marks` (`id`, `rolled`) SELECT `id`, `rolled` FROM `monitoring_raw` INDEXED BY `monitoring_raw_rolled` ORDER BY `id`;--> statement-breakpoint
CREATE INDEX `monitoring_raw_marks_rolled` ON `monitoring_raw_marks` (`rolled`,`id`);--> statement-breakpoint
DROP INDEX `monitoring_raw_rolled`;--> statement-breakpoint
ALTER TABLE `monitoring_raw` RENAME TO `monitoring_raw_rows`;--> statement-breakpoint
CREATE TRIGGER `monitoring_raw_rows_mark` AFTER INSERT ON `monitoring_raw_rows` BEGIN INSERT INTO `monitoring_raw_marks` (`id`) VALUES (new.`id`); END;--> statement-breakpoint
CREATE TRIGGER `monitoring_raw_rows_unmark` AFTER DELETE ON `monitoring_raw_rows` BEGIN DELETE FROM `monitoring_raw_marks` WHERE `id` = old.`id`; END;--> statement-breakpoint
CREATE VIEW `monitoring_raw` AS SELECT r.id AS id, r.node AS node, r.boot_id AS boot_id, r.ts AS ts, r.flows AS flows, r.tcp AS tcp, r.drops AS drops, m.rolled AS rolled FROM monitoring_raw_rows AS r JOIN monitoring_raw_marks AS m ON m.id = r.id;
