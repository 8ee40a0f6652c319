// Package arena ranks models from blind pairwise votes, the way LMSYS's
// Chatbot Arena (FastChat) does: battles in FastChat's format, online Elo,
// Bradley–Terry maximum-likelihood ratings on the Elo scale with bootstrap
// intervals, the pairwise win-rate matrix, a ratings plot, and a SQLite
// store for the votes themselves.
package arena
