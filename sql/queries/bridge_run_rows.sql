SELECT count(*)::int AS n FROM public.{{bridge}} WHERE user_id = $1::uuid AND run_id = $2;
