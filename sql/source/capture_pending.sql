-- Online mode, cut-over: how many logged changes wait after a sequence (an attempt gives up above its limit).
SELECT count(*) AS n FROM _migrator_changes WHERE seq > @after;
