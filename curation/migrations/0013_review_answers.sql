-- review answers: the per-kind form's other answers (tags) with each review

-- {question: value} for the questions beyond decision, correction, category, rating and notes:
-- a quest's realises / hook_ok / flag_ok / message_ok / canon / difficulty / corrected_design, a
-- dialogue's diagnosis_matches, ... NULL for a review that answered none of them.
ALTER TABLE reviews ADD COLUMN answers JSON;
