-- The user a pre-image (or its restore) is about, for this transaction only: the COPY statements
-- read it with current_setting() since COPY takes no bind parameters.
SELECT set_config('migrator.pre_image_user', $1::uuid::text, true);
