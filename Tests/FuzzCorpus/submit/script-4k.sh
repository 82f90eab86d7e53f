#!/bin/bash
#SBATCH -t 2:00:00
#SBATCH -N 2
#SBATCH --ntasks=16
module load gcc/12 openmpi/4.1
echo step 5; cp input.5 work/ # preparing data for the solver run
echo step 6; cp input.6 work/ # preparing data for the solver run
echo step 7; cp input.7 work/ # preparing data for the solver run
echo step 8; cp input.8 work/ # preparing data for the solver run
echo step 9; cp input.9 work/ # preparing data for the solver run
echo step 10; cp input.10 work/ # preparing data for the solver run
echo step 11; cp input.11 work/ # preparing data for the solver run
echo step 12; cp input.12 work/ # preparing data for the solver run
echo step 13; cp input.13 work/ # preparing data for the solver run
echo step 14; cp input.14 work/ # preparing data for the solver run
echo step 15; cp input.15 work/ # preparing data for the solver run
echo step 16; cp input.16 work/ # preparing data for the solver run
echo step 17; cp input.17 work/ # preparing data for the solver run
echo step 18; cp input.18 work/ # preparing data for the solver run
echo step 19; cp input.19 work/ # preparing data for the solver run
echo step 20; cp input.20 work/ # preparing data for the solver run
echo step 21; cp input.21 work/ # preparing data for the solver run
echo step 22; cp input.22 work/ # preparing data for the solver run
echo step 23; cp input.23 work/ # preparing data for the solver run
echo step 24; cp input.24 work/ # preparing data for the solver run
echo step 25; cp input.25 work/ # preparing data for the solver run
echo step 26; cp input.26 work/ # preparing data for the solver run
echo step 27; cp input.27 work/ # preparing data for the solver run
echo step 28; cp input.28 work/ # preparing data for the solver run
echo step 29; cp input.29 work/ # preparing data for the solver run
echo step 30; cp input.30 work/ # preparing data for the solver run
echo step 31; cp input.31 work/ # preparing data for the solver run
echo step 32; cp input.32 work/ # preparing data for the solver run
echo step 33; cp input.33 work/ # preparing data for the solver run
echo step 34; cp input.34 work/ # preparing data for the solver run
echo step 35; cp input.35 work/ # preparing data for the solver run
echo step 36; cp input.36 work/ # preparing data for the solver run
echo step 37; cp input.37 work/ # preparing data for the solver run
echo step 38; cp input.38 work/ # preparing data for the solver run
echo step 39; cp input.39 work/ # preparing data for the solver run
echo step 40; cp input.40 work/ # preparing data for the solver run
echo step 41; cp input.41 work/ # preparing data for the solver run
echo step 42; cp input.42 work/ # preparing data for the solver run
echo step 43; cp input.43 work/ # preparing data for the solver run
echo step 44; cp input.44 work/ # preparing data for the solver run
echo step 45; cp input.45 work/ # preparing data for the solver run
echo step 46; cp input.46 work/ # preparing data for the solver run
echo step 47; cp input.47 work/ # preparing data for the solver run
echo step 48; cp input.48 work/ # preparing data for the solver run
echo step 49; cp input.49 work/ # preparing data for the solver run
echo step 50; cp input.50 work/ # preparing data for the solver run
echo step 51; cp input.51 work/ # preparing data for the solver run
echo step 52; cp input.52 work/ # preparing data for the solver run
echo step 53; cp input.53 work/ # preparing data for the solver run
echo step 54; cp input.54 work/ # preparing data for the solver run
echo step 55; cp input.55 work/ # preparing data for the solver run
echo step 56; cp input.56 work/ # preparing data for the solver run
echo step 57; cp input.57 work/ # preparing data for the solver run
echo step 58; cp input.58 work/ # preparing data for the solver run
echo step 59; cp input.59 work/ # preparing data for the solver run
echo step 60; cp input.60 work/ # preparing data for the solver run
echo step 61; cp input.61 work/ # preparing data for the solver run
echo step 62; cp input.62 work/ # preparing data for the solver run
srun ./lmp -in in.lj
