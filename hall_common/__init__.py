"""The ground floor: what codecs, simulators, the runtime and the central service all share
(typed errors, the masking rules of citizens' data, the reconnect backoff and supervisor). Standard library only;
imports nothing of the project."""
