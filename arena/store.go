package arena

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"path/filepath"
	"time"

	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" driver
)

// Vote is one person's verdict on a blind battle, with what they saw.
type Vote struct {
	// ID is assigned by the store, in order of arrival.
	ID int64
	// Time is when the vote was cast; Add fills in the current time when
	// it is zero.
	Time    time.Time
	ModelA  string
	ModelB  string
	Winner  string // WinnerA, WinnerB, WinnerTie or WinnerBothBad
	Prompt  string
	AnswerA string
	AnswerB string
	// Voided votes are kept but not counted: an answer that names its own
	// model lifts the blindness the vote relies on.
	Voided bool
}

// Battle is the vote's outcome in FastChat's format.
func (v Vote) Battle() Battle {
	return Battle{ModelA: v.ModelA, ModelB: v.ModelB, Winner: v.Winner}
}

// Store keeps votes in a SQLite database in WAL mode, so several handles,
// in one process or several, can add votes to the same file at once while
// others read.
type Store struct {
	db *sql.DB
}

// schemaVersion is stored in PRAGMA user_version; a file written by a newer
// llmos is refused rather than misread.
const schemaVersion = 1

const schema = `
CREATE TABLE IF NOT EXISTS votes (
	id       INTEGER PRIMARY KEY AUTOINCREMENT,
	time_ns  INTEGER NOT NULL,
	model_a  TEXT NOT NULL,
	model_b  TEXT NOT NULL,
	winner   TEXT NOT NULL CHECK (winner IN ('model_a', 'model_b', 'tie', 'tie (bothbad)')),
	prompt   TEXT NOT NULL,
	answer_a TEXT NOT NULL,
	answer_b TEXT NOT NULL,
	voided   INTEGER NOT NULL CHECK (voided IN (0, 1))
);
PRAGMA user_version = 1;`

// OpenStore opens the vote database at path, creating it if needed.
func OpenStore(path string) (*Store, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("arena: vote store %s: %w", path, err)
	}
	// A file: URI, so that a '?' or '#' in the path is escaped rather than
	// taken for parameters. The busy timeout lets concurrent writers queue
	// for the write lock instead of failing with SQLITE_BUSY.
	dsn := "file:" + (&url.URL{Path: abs}).EscapedPath() +
		"?_busy_timeout=10000&_journal_mode=WAL"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("arena: vote store %s: %w", path, err)
	}
	s := &Store{db: db}
	if err := s.migrate(); err != nil {
		db.Close()
		return nil, fmt.Errorf("arena: vote store %s: %w", path, err)
	}
	return s, nil
}

func (s *Store) migrate() error {
	var version int
	if err := s.db.QueryRow(`PRAGMA user_version`).Scan(&version); err != nil {
		return err
	}
	if version > schemaVersion {
		return fmt.Errorf("schema version %d is newer than this llmos understands (%d)", version, schemaVersion)
	}
	var mode string
	if err := s.db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil {
		return err
	}
	if mode != "wal" {
		return fmt.Errorf("journal mode is %q, want wal", mode)
	}
	_, err := s.db.Exec(schema)
	return err
}

// Close releases the database.
func (s *Store) Close() error {
	return s.db.Close()
}

// Add records v and returns it as stored, with its ID and time. The vote
// is voided when either answer names its own model (see NamesItself).
func (s *Store) Add(ctx context.Context, v Vote) (Vote, error) {
	if err := v.Battle().Validate(); err != nil {
		return Vote{}, fmt.Errorf("arena: vote: %w", err)
	}
	if v.Time.IsZero() {
		v.Time = time.Now()
	}
	v.Voided = v.Voided || NamesItself(v.AnswerA, v.ModelA) || NamesItself(v.AnswerB, v.ModelB)
	res, err := s.db.ExecContext(ctx,
		`INSERT INTO votes (time_ns, model_a, model_b, winner, prompt, answer_a, answer_b, voided)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		v.Time.UnixNano(), v.ModelA, v.ModelB, v.Winner, v.Prompt, v.AnswerA, v.AnswerB, v.Voided)
	if err != nil {
		return Vote{}, fmt.Errorf("arena: adding vote: %w", err)
	}
	if v.ID, err = res.LastInsertId(); err != nil {
		return Vote{}, fmt.Errorf("arena: adding vote: %w", err)
	}
	return v, nil
}

// Votes returns every vote, voided ones included, in order of arrival.
func (s *Store) Votes(ctx context.Context) ([]Vote, error) {
	return query(ctx, s.db, "votes",
		`SELECT id, time_ns, model_a, model_b, winner, prompt, answer_a, answer_b, voided
		 FROM votes ORDER BY id`,
		func(rows *sql.Rows) (Vote, error) {
			var v Vote
			var ns int64
			err := rows.Scan(&v.ID, &ns, &v.ModelA, &v.ModelB, &v.Winner, &v.Prompt, &v.AnswerA, &v.AnswerB, &v.Voided)
			v.Time = time.Unix(0, ns)
			return v, err
		})
}

// Battles returns the outcomes of the votes that count (not voided), in
// order of arrival, ready for ComputeLeaderboard.
func (s *Store) Battles(ctx context.Context) ([]Battle, error) {
	return query(ctx, s.db, "battles",
		`SELECT model_a, model_b, winner FROM votes WHERE voided = 0 ORDER BY id`,
		func(rows *sql.Rows) (Battle, error) {
			var b Battle
			err := rows.Scan(&b.ModelA, &b.ModelB, &b.Winner)
			return b, err
		})
}

// query runs q and scans every row with scan.
func query[T any](ctx context.Context, db *sql.DB, what, q string, scan func(*sql.Rows) (T, error)) ([]T, error) {
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("arena: reading %s: %w", what, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("arena: reading %s: %w", what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("arena: reading %s: %w", what, err)
	}
	return out, nil
}
