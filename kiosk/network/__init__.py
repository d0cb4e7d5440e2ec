"""The link to the central service network: contract (topics, envelope, schemas), gateway, outbox."""
