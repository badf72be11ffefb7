-- Written by drizzle-kit generate, then its expression fixed by hand: drizzle-kit quotes each comma-separated
-- piece of an index expression as a column name. The expression and condition are POD_RATE_CLASS and
-- POD_TALKING of control/db/schema.ts.
CREATE INDEX `pods_rate_class` ON `pods` (length(CAST(CAST(coalesce(rx_bytes_per_sec, 0) + coalesce(tx_bytes_per_sec, 0) AS INTEGER) AS TEXT)) * 10 + CAST(substr(CAST(CAST(coalesce(rx_bytes_per_sec, 0) + coalesce(tx_bytes_per_sec, 0) AS INTEGER) AS TEXT), 1, 1) AS INTEGER)) WHERE vanished_at IS NULL AND coalesce(rx_bytes_per_sec, 0) + coalesce(tx_bytes_per_sec, 0) > 0;
