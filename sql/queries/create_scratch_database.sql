CREATE DATABASE {{database}};
