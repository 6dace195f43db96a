COPY (SELECT * FROM {{table}} t WHERE t.user_id = current_setting('migrator.pre_image_user')::uuid) TO STDOUT
