"""A private, searchable record of your own sessions: a sealed full-text index per session
(indexer), queries (query), search over every session after unlock (searcher), and the local
timeline page (timeline). Nothing of it is ever written in clear."""
