"""The bad-input table: one line per case, ``category | case | arguments | expected parts of the error``.

Arguments follow ``factdyn fit`` on the tiny preset (logging under ``{logs}``) unless they start with
``toy:`` / ``toy-finetune:`` (``factdyn toy fit`` on configs/toy/pretrain.yaml / finetune.yaml, 50 steps) or
``factdyn:`` (the whole command line after ``factdyn``). They are split as a shell would split them;
``$NAME`` stands for the arguments of :data:`MACROS`, ``{placeholders}`` for the files of
:func:`tests.helpers.bad_inputs.prepare_files` and ``{work}``, the case's working directory. The expected
parts, separated by `` ; ``, are the field (or the file) and what it allows. Each case changes one thing;
:mod:`tests.helpers.bad_inputs` runs and classifies them.
"""

from __future__ import annotations

MACROS: dict[str, str] = {
    "AWU": "--data.sampler AdaptiveWarmUp --data.sampler.warmup_individuals 8",
    "STATS": "--trainer.callbacks+=factdyn.callbacks.AttentionStatistics",
    "PATCH": "--trainer.callbacks+=factdyn.callbacks.AttentionPatching",
    "HALL": "--trainer.callbacks+=factdyn.callbacks.HallucinationExamples",
    "SWITCH": "--trainer.callbacks+=factdyn.callbacks.AdaptiveWarmUpSwitch",
    "REPLAY": "--trainer.callbacks+=factdyn.callbacks.ReplayMixing",
    "RECORDER": "--trainer.callbacks+=factdyn.callbacks.DataStreamRecorder",
}

TABLE = """
data | n_individuals negative | --data.n_individuals -3 | data.n_individuals ; >= 1
data | n_individuals zero | --data.n_individuals 0 | data.n_individuals ; >= 1
data | n_individuals not a number | --data.n_individuals abc | data.n_individuals ; int
data | batch_size float | --data.batch_size 2.5 | data.batch_size ; int
data | n_unseen negative | --data.n_unseen -1 | data.n_unseen ; >= 0
data | n_new negative | --data.n_new -2 | data.n_new ; >= 0
data | n_templates_train zero | --data.n_templates_train 0 | data.n_templates_train ; in [1, 25]
data | n_templates_eval too many | --data.n_templates_eval 26 | data.n_templates_eval ; in [1, 25]
data | n_templates_eval zero | --data.n_templates_eval 0 | data.n_templates_eval ; in [1, 25]
data | train + eval templates > templates | --data.n_templates_eval 10 | data.n_templates_train + data.n_templates_eval ; at most 25
data | batch_size zero | --data.batch_size 0 | data.batch_size ; >= 1
data | eval_batch_size negative | --data.eval_batch_size -4 | data.eval_batch_size ; >= 1
data | n_val_sequences zero | --data.n_val_sequences 0 | data.n_val_sequences ; >= 1
data | n_unseen_sequences negative | --data.n_unseen_sequences -1 | data.n_unseen_sequences ; >= 0
data | num_workers negative | --data.num_workers -1 | data.num_workers ; >= 0
data | n_new_sequences negative | --data.n_new_sequences -1 | data.n_new_sequences ; >= 0
data | pad_to_multiple zero | --data.pad_to_multiple 0 | data.pad_to_multiple ; >= 1
data | pin_memory not a bool | --data.pin_memory sometimes | data.pin_memory
data | seed negative | --seed_everything -1 | seed_everything ; [0, 4294967295]
data | seed too large | --seed_everything 4294967296 | seed_everything ; [0, 4294967295]
data | seed not a number | --seed_everything abc | seed_everything
data | shuffle_sentences not a bool | --data.shuffle_sentences maybe | data.shuffle_sentences ; true or false
data | population larger than the name space | --data.n_individuals 900000000 | data.n_individuals + data.n_unseen + data.n_new ; at most 810000000
data | unseen larger than the name space | --data.n_unseen 810000000 | data.n_individuals + data.n_unseen + data.n_new ; at most 810000000
data | train_roles unknown | --data.train_roles '[pupils]' | data.train_roles ; train
data | train_roles repeated | --data.train_roles '[train, train]' | data.train_roles ; distinct
data | train_roles with an empty role | --data.train_roles '[new, train]' | data.train_roles ; not empty
data | tokenizer unknown | --data.tokenizer bpe | data.tokenizer ; 'word', 'subword'
data | subword_vocab_size below the characters | --data.tokenizer subword --data.subword_vocab_size 40 | data.subword_vocab_size ; >= 72
data | subword_vocab_size above the corpus | --data.tokenizer subword --data.subword_vocab_size 100000 | data.subword_vocab_size ; [72, ; the pieces this corpus has
data | subword_vocab_size not a number | --data.tokenizer subword --data.subword_vocab_size big | data.subword_vocab_size ; int

sampler | unknown sampler | --data.sampler NoSuchSampler | data.sampler ; AdaptiveWarmUp, Celebrities
sampler | warmup_individuals zero | --data.sampler AdaptiveWarmUp --data.sampler.warmup_individuals 0 $SWITCH | data.sampler.warmup_individuals ; >= 1
sampler | warmup_individuals > N | --data.sampler AdaptiveWarmUp --data.sampler.warmup_individuals 1000 $SWITCH | data.sampler.warmup_individuals ; at most the 64 training individuals
sampler | max_warmup_steps negative | $AWU --data.sampler.max_warmup_steps -1 | data.sampler.max_warmup_steps ; >= 0 or null
sampler | AdaptiveWarmUp without its switch | $AWU | trainer.callbacks ; AdaptiveWarmUpSwitch ; max_warmup_steps
sampler | switch callback without AdaptiveWarmUp | $SWITCH | data.sampler ; AdaptiveWarmUp
sampler | switch callback with workers | $AWU $SWITCH --data.num_workers 1 | data.num_workers ; 0
sampler | Zipf alpha negative | --data.sampler Zipf --data.sampler.alpha -1 | data.sampler.alpha ; >= 0
sampler | Zipf n_buckets zero | --data.sampler Zipf --data.sampler.n_buckets 0 | data.sampler.n_buckets ; >= 1
sampler | Zipf permutation_seed negative | --data.sampler Zipf --data.sampler.permutation_seed -1 | data.sampler.permutation_seed ; >= 0
sampler | Celebrities weight zero | --data.sampler Celebrities --data.sampler.weight 0 | data.sampler.weight ; > 0
sampler | Celebrities n_celebrities negative | --data.sampler Celebrities --data.sampler.n_celebrities -1 | data.sampler.n_celebrities ; >= 0
sampler | WarmUp warmup_epochs negative | --data.sampler WarmUp --data.sampler.warmup_epochs -1 | data.sampler.warmup_epochs ; >= 0
sampler | WarmUp warmup_individuals > N | --data.sampler WarmUp --data.sampler.warmup_individuals 100 | data.sampler.warmup_individuals ; at most the 64
sampler | SequentialGroups n_groups zero | --data.sampler SequentialGroups --data.sampler.n_groups 0 | data.sampler.n_groups ; >= 1
sampler | SequentialGroups n_repeats zero | --data.sampler SequentialGroups --data.sampler.n_repeats 0 | data.sampler.n_repeats ; >= 1
sampler | ReplayMixture replay_weight negative | --data.sampler ReplayMixture --data.sampler.replay_weight -1 | data.sampler.replay_weight ; >= 0
sampler | ReplayMixing without ReplayMixture | $REPLAY | data.sampler ; ReplayMixture
sampler | sampler argument of another sampler | --data.sampler Zipf --data.sampler.weight 2 | data.sampler.weight ; Zipf takes no 'weight' ; alpha

model | heads do not divide d_model | --model.config.n_head 3 | model.config.n_head ; divisor of model.config.d_model
model | n_layer zero | --model.config.n_layer 0 | model.config.n_layer ; an integer >= 1
model | d_model negative | --model.config.d_model -16 | model.config.d_model ; an integer >= 1
model | d_mlp zero | --model.config.d_mlp 0 | model.config.d_mlp ; an integer >= 1
model | d_rnn not a multiple of n_head | --model.config.d_rnn 3 | model.config.d_rnn ; multiple of model.config.n_head
model | dropout >= 1 | --model.config.dropout 1.5 | model.config.dropout ; [0, 1)
model | unknown attention | --model.config.attention flash | model.config.attention ; fused ; explicit
model | unknown sequence_mixer | --model.config.sequence_mixer lstm | model.config.sequence_mixer ; attention ; hawk
model | unknown positions | --model.config.positions alibi | model.config.positions ; learned ; rotary ; none
model | rotary with an odd head size | --model.config.positions rotary --model.config.n_head 16 | model.config.positions ; odd head size
model | rotary with hawk | --model.config.positions rotary --model.config.sequence_mixer hawk | model.config.positions ; 'learned' or 'none'
model | lr negative | --model.lr -1 | model.lr ; > 0
model | lr zero | --model.lr 0 | model.lr ; > 0
model | lr not a number | --model.lr fast | model.lr ; number
model | min_lr above lr | --model.min_lr 1 | model.min_lr ; in [0, model.lr =
model | unknown lr_schedule | --model.lr_schedule linear | model.lr_schedule ; cosine ; constant
model | weight_decay negative | --model.weight_decay -0.1 | model.weight_decay ; >= 0
model | beta2 >= 1 | --model.betas '[0.9, 1.5]' | model.betas ; [0, 1)
model | betas of three | --model.betas '[0.9, 0.95, 0.99]' | model.betas
model | warmup_steps negative | --model.warmup_steps -5 | model.warmup_steps ; >= 0
model | decay_steps zero | --model.decay_steps 0 | model.decay_steps ; an integer >= 1 or null
model | eval_prefixes unknown set | --model.eval_prefixes '{vall: ft_old}' | model.eval_prefixes ; val
model | init_optimizer_state without init_checkpoint | --model.init_optimizer_state true | model.init_optimizer_state ; model.init_checkpoint
model | unknown compile_mode | --model.compile_mode fastest | model.compile_mode ; reduce-overhead
model | init_checkpoint missing | --model.init_checkpoint nope.ckpt | model.init_checkpoint ; nope.ckpt
model | init_checkpoint of another size | --model.init_checkpoint '{wide}' | model.init_checkpoint ; d_model

trainer | max_steps not a number | --trainer.max_steps abc | trainer.max_steps ; int
trainer | max_steps -1 (would run forever) | --trainer.max_steps -1 | trainer.max_steps ; >= 1
trainer | max_steps zero | --trainer.max_steps 0 | trainer.max_steps ; >= 1
trainer | val_check_interval zero | --trainer.val_check_interval 0 | trainer.val_check_interval ; >= 1
trainer | val_check_interval negative | --trainer.val_check_interval -4 | trainer.val_check_interval ; >= 1
trainer | val_check_interval a fraction | --trainer.val_check_interval 0.5 | val_check_interval ; int
trainer | accumulate_grad_batches zero | --trainer.accumulate_grad_batches 0 | accumulate_grad_batches
trainer | unknown precision | --trainer.precision 17 | precision
trainer | unknown accelerator | --trainer.accelerator abacus | accelerator ; abacus
trainer | devices zero | --trainer.devices 0 | devices
trainer | unknown strategy | --trainer.strategy telepathy | strategy ; telepathy
trainer | max_time not a duration | --trainer.max_time soon | max_time
trainer | log_every_n_steps negative | --trainer.log_every_n_steps -2 | log_every_n_steps
trainer | unknown trainer key | --trainer.max_stepz 3 | trainer.max_stepz ; Allowed keys under trainer ; max_steps

callbacks | checkpoints.dense_until negative | --checkpoints.dense_until -1 | checkpoints.dense_until ; >= 0
callbacks | checkpoints.every_n_steps negative | --checkpoints.every_n_steps -2 | checkpoints.every_n_steps ; >= 0
callbacks | phases.patience zero | --phases.thresholds.patience 0 | phases.thresholds.patience ; >= 1
callbacks | phases.leave_tolerance >= 1 | --phases.thresholds.leave_tolerance 1.5 | phases.thresholds.leave_tolerance ; [0, 1)
callbacks | phases.reach_tolerance negative | --phases.thresholds.reach_tolerance -1 | phases.thresholds.reach_tolerance ; >= 0
callbacks | phases.knowledge_fraction zero | --phases.thresholds.knowledge_fraction 0 | phases.thresholds.knowledge_fraction ; (0,
callbacks | phases.knowledge_accuracy > 1 | --phases.thresholds.knowledge_accuracy 2 | phases.thresholds.knowledge_accuracy ; (0, 1]
callbacks | phases.monitor misspelt | --phases.monitor val/atr_loss | phases.monitor ; did you mean 'val/attr_loss' ; phases.strict: false
callbacks | phases.baseline_monitor misspelt | --phases.baseline_monitor baseline/loss | phases.baseline_monitor ; baseline/attr_loss
callbacks | phases.accuracy_monitor misspelt with knowledge_accuracy | --phases.thresholds.knowledge_accuracy 0.5 --phases.accuracy_monitor val/acc | phases.accuracy_monitor ; val/attr_acc
callbacks | phases.monitor of a set this data lacks | --phases.monitor new/attr_loss | phases.monitor ; val/attr_loss
callbacks | nonfinite.action unknown | --nonfinite.action ignore | nonfinite.action ; stop ; skip
callbacks | validation_at_start.when unknown | --validation_at_start.when sometimes | validation_at_start.when ; init_checkpoint ; never
callbacks | nonfinite.max_skips negative | --nonfinite.max_skips -1 | nonfinite.max_skips ; >= 0
callbacks | nonfinite.check_every_n_steps zero | --nonfinite.check_every_n_steps 0 | nonfinite.check_every_n_steps ; >= 1
callbacks | nonfinite.monitor misspelt | --nonfinite.monitor train/los | nonfinite.monitor ; train/loss
callbacks | bucket_metrics.split misspelt | --bucket_metrics.split vall | bucket_metrics.split ; 'val'
callbacks | bucket_metrics.split of untrained individuals | --bucket_metrics.split unseen | bucket_metrics.split ; 'val'
callbacks | hallucination_examples.split misspelt | --hallucination_examples.split unsen | hallucination_examples.split ; 'unseen'
callbacks | hallucination_examples.split of a set this data lacks | --hallucination_examples.split new | hallucination_examples.split ; 'val', 'unseen'
callbacks | hallucination_examples.every_n_validations zero | --hallucination_examples.every_n_validations 0 | hallucination_examples.every_n_validations ; >= 1
callbacks | hallucination_examples.n_individuals zero | --hallucination_examples.n_individuals 0 | hallucination_examples.n_individuals ; >= 1
callbacks | panel.size negative | --panel.size -1 | panel.size ; >= 0
callbacks | panel.every_n_evaluations zero | --panel.every_n_evaluations 0 | panel.every_n_evaluations ; >= 1
callbacks | panel.figure_every_n zero | --panel.figure_every_n 0 | panel.figure_every_n ; >= 1
callbacks | HallucinationExamples.n_individuals zero | $HALL --trainer.callbacks.n_individuals 0 | HallucinationExamples.n_individuals ; >= 1
callbacks | AttentionStatistics.n_sequences zero | $STATS --trainer.callbacks.n_sequences 0 | AttentionStatistics.n_sequences ; >= 1
callbacks | AttentionStatistics.every_n_evals zero | $STATS --trainer.callbacks.every_n_evals 0 | AttentionStatistics.every_n_evals ; >= 1
callbacks | AttentionStatistics.batch_size zero | $STATS --trainer.callbacks.batch_size 0 | AttentionStatistics.batch_size ; >= 1
callbacks | AttentionStatistics on a Hawk model | $STATS --model.config.sequence_mixer hawk | model.config.sequence_mixer ; 'attention'
callbacks | AttentionPatching.start_step negative | $PATCH --trainer.callbacks.reference_checkpoint x.ckpt --trainer.callbacks.start_step -1 | AttentionPatching.start_step ; >= 0
callbacks | AttentionPatching reference missing | $PATCH --trainer.callbacks.reference_checkpoint nope.ckpt | AttentionPatching ; nope.ckpt ; not found
callbacks | AttentionPatching reference mismatch | $PATCH --trainer.callbacks.reference_checkpoint '{wide}' | AttentionPatching.reference_checkpoint ; matches the model ; d_model: reference 32 != model 16
callbacks | AttentionPatching layer out of range | $PATCH --trainer.callbacks.reference_checkpoint '{same}' --trainer.callbacks.layers '[5]' | AttentionPatching.layers ; [0, 1]
callbacks | AttentionPatching reference_step of another step | $PATCH --trainer.callbacks.reference_checkpoint '{same}' --trainer.callbacks.reference_step 3 | AttentionPatching.reference_step ; (0)
callbacks | AttentionPatching run directory without a step | $PATCH --trainer.callbacks.reference_checkpoint '{refs}' | AttentionPatching.reference_step ; run directory
callbacks | AttentionPatching with a compiled model | $PATCH --trainer.callbacks.reference_checkpoint '{same}' --model.compile true | model.compile ; false with AttentionPatching
callbacks | AdaptiveWarmUpSwitch.baseline_monitor misspelt | $AWU $SWITCH --trainer.callbacks.baseline_monitor baseline/atr_loss | AdaptiveWarmUpSwitch.baseline_monitor ; baseline/attr_loss
callbacks | unknown callback class | --trainer.callbacks+=factdyn.callbacks.NoSuchCallback | trainer.callbacks ; NoSuchCallback

paths | summary.filename outside the run | --summary.filename ../../../x.json | summary.filename ; inside the run directory
paths | summary.filename absolute | --summary.filename {work}/abs/summary.json | summary.filename ; not absolute
paths | summary.filename empty | --summary.filename '' | summary.filename ; relative path
paths | exposures.filename outside the run | --exposures.filename ../../x.csv | exposures.filename ; inside the run directory
paths | panel.filename outside the run | --panel.filename ../../panel.csv.gz | panel.filename ; inside the run directory
paths | DataStreamRecorder.filename outside the run | $RECORDER --trainer.callbacks.filename ../x.jsonl | DataStreamRecorder.filename ; inside the run directory
paths | logger name escaping save_dir | --trainer.logger.init_args.name ../escape | trainer.logger.init_args.name ; inside trainer.logger.init_args.save_dir
paths | logger name absolute | --trainer.logger.init_args.name {work}/abs | trainer.logger.init_args.name ; not absolute
paths | logger version escaping save_dir | --trainer.logger.init_args.version ../../v | trainer.logger.init_args.version ; inside
paths | logger sub_dir escaping the run | --trainer.logger.init_args.sub_dir ../../s | trainer.logger.init_args.sub_dir ; inside
paths | ckpt_path missing file | --ckpt_path missing.ckpt | missing.ckpt ; not found
paths | ckpt_path last with no runs | --ckpt_path last | ckpt_path ; no valid checkpoint
paths | ckpt_path best for fit | --ckpt_path best | ckpt_path ; 'last' or a checkpoint file

files | config file missing | --config nope.yaml | nope.yaml
files | config file is a directory | --config '{config_dir}' | config_dir
files | config file in Latin-1 | --config '{latin1_yaml}' | latin1.yaml ; UTF-8
files | config file of binary bytes | --config '{binary_yaml}' | binary.yaml ; UTF-8
files | config file with an unknown key | --config '{unknown_key_yaml}' | unknown_key.yaml ; n_individualz
files | config file value of the wrong type | --config '{wrong_type_yaml}' | data.batch_size ; int
files | config file holding a list | --config '{list_yaml}' | list.yaml
files | config file of an unknown section | --config '{unknown_section_yaml}' | unknown_section.yaml ; datas

yaml | duplicate key in a config file | --config '{dup_yaml}' | dup.yaml ; 'n_individuals' ; line 3
yaml | duplicate nested key in a config file | --config '{dup_nested_yaml}' | dup_nested.yaml ; 'n_head'
yaml | duplicate section in a config file | --config '{dup_section_yaml}' | dup_section.yaml ; 'model'
yaml | duplicate key in a value | --data '{n_individuals: 32, n_individuals: 16}' | 'n_individuals' ; repeats
yaml | YAML syntax error in a config file | --config '{syntax_yaml}' | syntax.yaml ; line
yaml | tab indentation in a config file | --config '{tab_yaml}' | tab.yaml

cli | unknown data key | --data.no_such_key 3 | no_such_key ; Allowed keys under data ; n_individuals
cli | unknown model key | --model.heads 3 | model.heads ; Allowed keys under model ; n_head
cli | unknown subcommand | factdyn: fitt --config '{tiny}' | fitt ; fit
cli | no subcommand | factdyn:  | subcommand
cli | option without a value | --data.n_individuals | data.n_individuals
cli | validate with a bad value | factdyn: validate --trainer.logger.init_args.save_dir '{logs}' --ckpt_path '{same}' --data.batch_size 0 | data.batch_size ; >= 1
cli | validate without a checkpoint | factdyn: validate --config '{tiny}' --trainer.logger.init_args.save_dir '{logs}' | ckpt_path ; a checkpoint file to evaluate
cli | validate from a missing checkpoint | factdyn: validate --config '{tiny}' --trainer.logger.init_args.save_dir '{logs}' --ckpt_path missing.ckpt | missing.ckpt
cli | validate with another population than its checkpoint | factdyn: validate --trainer.logger.init_args.save_dir '{logs}' --ckpt_path '{same}' --data.n_individuals 128 | data.n_individuals ; 64 as in the checkpoint being evaluated ; got 128
cli | test with another seed than its checkpoint | factdyn: test --trainer.logger.init_args.save_dir '{logs}' --ckpt_path '{same}' --seed_everything 7 | data.seed (linked from seed_everything) ; 0 as in the checkpoint ; got 7
cli | test with an unknown key | factdyn: test --config '{tiny}' --model.nope 1 | model.nope ; Allowed keys under model

toy | toy n_pretrain zero | toy: --data.n_pretrain 0 | data.n_pretrain ; >= 1
toy | toy n_classes one | toy: --data.n_classes 1 | data.n_classes ; >= 2
toy | toy unknown stage | toy: --data.stage pretrian | data.stage ; pretrain
toy | toy hidden zero | toy: --model.hidden 0 | model.hidden ; >= 1
toy | toy lr negative | toy: --model.lr -0.1 | model.lr ; > 0
toy | toy max_steps -1 | toy: --trainer.max_steps -1 | trainer.max_steps ; >= 1
toy | toy unknown key | toy: --data.n_pairs 3 | n_pairs ; Allowed keys under data
toy | toy init_checkpoint missing | toy-finetune:  | model.init_checkpoint ; pretrain/checkpoints/last.ckpt
toy | toy summary.filename outside the run | toy: --summary.filename ../../x.json | summary.filename ; inside the run directory
toy | toy logger name escaping save_dir | toy: --trainer.logger.init_args.name ../up | trainer.logger.init_args.name ; inside

sweep | sweep file missing | factdyn: sweep nope_sweep.yaml | nope_sweep.yaml
sweep | sweep unknown key | factdyn: sweep '{sweep_unknown_key}' --dry-run | sweep_unknown_key.yaml ; gird
sweep | sweep bad name | factdyn: sweep '{sweep_bad_name}' --dry-run | sweep_bad_name.yaml ; name
sweep | sweep config missing | factdyn: sweep '{sweep_missing_config}' --dry-run | sweep_missing_config.yaml ; nope.yaml
sweep | sweep not a mapping | factdyn: sweep '{sweep_list}' --dry-run | sweep_list.yaml ; mapping
sweep | sweep seeds not integers | factdyn: sweep '{sweep_bad_seeds}' --dry-run | sweep_bad_seeds.yaml ; seeds
sweep | sweep unknown command | factdyn: sweep '{sweep_bad_command}' --dry-run | sweep_bad_command.yaml ; command
sweep | sweep parallel zero | factdyn: sweep '{sweep_ok}' --parallel 0 | --parallel ; >= 1
sweep | sweep parallel not a number | factdyn: sweep '{sweep_ok}' --parallel two | --parallel
sweep | sweep unknown option | factdyn: sweep '{sweep_ok}' --paralel 2 | --paralel

report | report without runs | factdyn: report | runs
report | report without --out | factdyn: report '{logs}' | --out
report | report of a folder without runs | factdyn: report '{empty_dir}' --out '{logs}/report' | no run directories
"""  # noqa: E501 - one case a line reads best as a table
