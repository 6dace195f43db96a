-- A pre-image restore removes the user's rows of one table of the pre-image (and only those).
DELETE FROM {{table}} t WHERE t.user_id = current_setting('migrator.pre_image_user')::uuid;
