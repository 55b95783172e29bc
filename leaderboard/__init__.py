"""The FineVidBench leaderboard: submissions, rescoring from raw responses, and a static site."""
