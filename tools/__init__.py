"""Developer and operator tools: reference central service, fleet, bench, pki."""
