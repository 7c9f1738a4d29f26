-- Per-model-group budgets are reconciled from the spend log by model group and period.
CREATE INDEX spend_by_model_group ON spend (model_group, time_ms);
