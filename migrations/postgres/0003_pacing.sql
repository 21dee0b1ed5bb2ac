-- Send pacing shared by every replica: per Buzzbip account, the earliest time (epoch ms) the
-- next send may go (a GCRA "theoretical arrival time").
CREATE TABLE pacing (
    account TEXT   PRIMARY KEY,
    next_at BIGINT NOT NULL
);
