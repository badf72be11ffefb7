-- An admin's approval of a re-join (POST /api/v1/nodes/:node/rejoin): until when the next join of the node may
-- replace this live credential. Without it a join for a node whose credential is live is refused (409) until the node is Lost.
ALTER TABLE `node_credentials` ADD `rejoin_approved_until` integer;
