-- The chunk's rows into its staging table ({{stage}}: a stage_<table>.sql name, never input), text format.
COPY pg_temp.{{stage}} FROM STDIN;
