-- Trivial job_submit/lua script of Prewarm's dev cluster (PREWARM_DEV_PLUGIN=lua): the baseline of
-- bench/submit-throughput. scripts/dev-cluster copies it next to the generated slurm.conf, where
-- Slurm 22.05 looks for job_submit.lua.
function slurm_job_submit(job_desc, part_list, submit_uid)
	return slurm.SUCCESS
end

function slurm_job_modify(job_desc, job_rec, part_list, modify_uid)
	return slurm.SUCCESS
end

return slurm.SUCCESS
