-- Who disabled the account (null: enabled, disabled before this column, or by the command line). Enabling it again
-- needs an admin whose scope holds every unit that admin covers: a district admin does not undo a disable for cause
-- by the province (identity/AccountService.enable).
ALTER TABLE account ADD COLUMN disabled_by uuid REFERENCES account (id) ON DELETE SET NULL;
