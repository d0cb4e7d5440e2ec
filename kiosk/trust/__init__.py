"""Trust: TLS client contexts, signed codes and key sets, signed commands with a durable trust
state, and the maintenance-PIN rate limiter. Pure or stdlib + ``cryptography``; no paho here."""
